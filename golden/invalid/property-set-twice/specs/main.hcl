host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "sonarr" {
  dataset {
    recordsize = "16K"
    properties = { recordsize = "64K" }
  }
}
