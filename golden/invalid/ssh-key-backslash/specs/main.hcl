host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "photos" {
  replication {
    target  = "syncoid@nas:backup/photos"
    ssh_key = "/run/secrets/nas\\tkey"
  }
}

service "music" {
  replication {
    target  = "syncoid@nas:backup/music"
    ssh_key = "/run/secrets/$${CREDENTIALS_DIRECTORY}/key"
  }
}
