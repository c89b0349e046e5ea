host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "sonarr" {
  replication {
    target  = "backup@nas:backup/sonarr"
    ssh_key = "~/.ssh/id_ed25519"
  }
}
