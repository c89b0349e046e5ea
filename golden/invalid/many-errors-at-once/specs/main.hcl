host "forge" {
  parent_dataset = "tank/services/"
  parent_mount   = "srv"
}

service "sonarr" {
  user = "Sonarr"
  mode = "999"
  unit = "sonarr"
  dataset {
    recordsize = "3K"
  }
  preseed {
    methods    = ["restic"]
    on_failure = "maybe"
  }
}
