host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "sonarr" {
  replication {
    target   = "backup@nas:backup/sonarr"
    schedule = "Mon..Fryday 02:00"
  }
}
