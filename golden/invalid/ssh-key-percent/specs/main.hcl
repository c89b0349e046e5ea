host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "photos" {
  replication {
    target  = "syncoid@nas:backup/photos"
    ssh_key = "/run/secrets/%H-key"
  }
}
