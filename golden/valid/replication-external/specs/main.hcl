# A target outside the specs: forge pins its host key from known_host_key;
# nothing is generated for the receiving side, and validate warns about that.
host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "photos" {
  replication {
    target         = "zfs-recv@backup.example.net:backup/forge/photos"
    ssh_key        = "/var/lib/syncoid/id_ed25519"
    known_host_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEYEcBouND8MnIzjoZyf1egjlDvFCDuaabWSlhbZJee4 root@backup"
  }
}
