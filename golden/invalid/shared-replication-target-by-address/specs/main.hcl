host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
  services       = ["photos", "wiki"]
}

host "nas" {
  parent_dataset = "backup/nixgen"
  parent_mount   = "/srv"
  services       = []
  addresses      = ["nas.lan"]
  ssh_host_key   = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEYEcBouND8MnIzjoZyf1egjlDvFCDuaabWSlhbZJee4"
}

service "photos" {
  replication {
    target         = "zfs-recv@nas:backup/forge/shared"
    ssh_public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEYEcBouND8MnIzjoZyf1egjlDvFCDuaabWSlhbZJee4"
  }
}

service "wiki" {
  replication {
    target         = "zfs-recv@nas.lan:backup/forge/shared"
    ssh_public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEYEcBouND8MnIzjoZyf1egjlDvFCDuaabWSlhbZJee4"
  }
}
