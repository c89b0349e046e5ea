host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "sonarr" {
  replication {
    target  = "backup/sonarr"
    ssh_key = "/root/.ssh/id_ed25519"
  }
}
