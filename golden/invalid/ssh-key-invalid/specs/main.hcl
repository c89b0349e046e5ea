host "nas" {
  parent_dataset = "backup/nixgen"
  parent_mount   = "/srv"
  ssh_host_key   = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEYEcBouND8MnIzjoZyf1egjlDvFCDu"
}

service "photos" {
  replication {
    target         = "zfs-recv@backup.example.net:backup/photos"
    ssh_public_key = "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIEYEcBouND8MnIzjoZyf1egjlDvFCDuaabWSlhbZJee4"
    known_host_key = "AAAAC3NzaC1lZDI1NTE5AAAAIEYEcBouND8MnIzjoZyf1egjlDvFCDuaabWSlhbZJee4"
  }
}
