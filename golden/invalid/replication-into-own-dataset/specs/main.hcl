host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "sonarr" {
  replication {
    target = "tank/services/sonarr/copy"
  }
}
