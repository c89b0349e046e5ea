host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "radarr" {
  dataset {
    name = "media"
  }
}

service "sonarr" {
  mountpoint = "/srv/tv"
  dataset {
    name = "media"
  }
}
