# forge replicates to luna, which is itself a host in these specs (matched by
# name): luna gets the receive user with forge's key, the receive parent and
# its permissions (manifest "receive"), a prune-only sanoid policy and
# canmount=noauto for the replica; forge pins luna's host key.
host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
  services       = ["photos"]
}

host "luna" {
  parent_dataset = "rpool/services"
  parent_mount   = "/srv"
  services       = ["dns"]
  ssh_host_key   = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEYEcBouND8MnIzjoZyf1egjlDvFCDuaabWSlhbZJee4 root@luna"
}

snapshot_policy "daily" {
  hourly = 12
  daily  = 14
}

service "photos" {
  snapshots { policy = "daily" }
  replication {
    target         = "syncoid@luna:rpool/replicas/photos"
    ssh_key        = "/var/lib/syncoid/id_ed25519"
    ssh_public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPuPO+m0NcjGEL9fbxlFSTmq05oIbfNo3eg5TwT2tP8w syncoid@forge"
  }
}

service "dns" {}
