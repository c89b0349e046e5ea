host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "photos" {
  replication {
    target         = "tank/replicas/photos"
    ssh_public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEYEcBouND8MnIzjoZyf1egjlDvFCDuaabWSlhbZJee4"
    known_host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEYEcBouND8MnIzjoZyf1egjlDvFCDuaabWSlhbZJee4"
  }
}
