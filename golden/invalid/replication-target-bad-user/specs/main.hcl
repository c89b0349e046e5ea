host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "sonarr" {
  replication {
    target = "Backup User@nas:backup/sonarr"
  }
}
