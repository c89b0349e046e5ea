# Two senders push to nas, a pure receiver (services = []) that the targets
# name by its addresses, not by its name: nas gets one receive user with both
# senders' keys, a receive parent per target parent, and prune-only sanoid
# templates; each sender pins nas's host key under its name and addresses.
host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
  services       = ["photos", "wiki"]
}

host "luna" {
  parent_dataset = "rpool/services"
  parent_mount   = "/srv"
  services       = ["dns"]
}

host "nas" {
  parent_dataset = "backup/nixgen"
  parent_mount   = "/srv"
  services       = []
  addresses      = ["nas-1.lan", "10.0.0.5"]
  ssh_host_key   = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEYEcBouND8MnIzjoZyf1egjlDvFCDuaabWSlhbZJee4"
}

snapshot_policy "daily" {
  hourly = 12
  daily  = 14
}

service "photos" {
  snapshots { policy = "daily" }
  replication {
    target         = "zfs-recv@nas-1.lan:backup/forge/photos"
    ssh_key        = "/var/lib/syncoid/id_ed25519"
    ssh_public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPuPO+m0NcjGEL9fbxlFSTmq05oIbfNo3eg5TwT2tP8w syncoid@forge"
  }
}

service "wiki" {
  replication {
    target         = "zfs-recv@10.0.0.5:backup/forge/wiki"
    ssh_key        = "/var/lib/syncoid/id_ed25519"
    ssh_public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPuPO+m0NcjGEL9fbxlFSTmq05oIbfNo3eg5TwT2tP8w syncoid@forge"
  }
}

service "dns" {
  replication {
    target         = "zfs-recv@nas-1.lan:backup/luna/dns"
    ssh_key        = "/var/lib/syncoid/id_ed25519"
    ssh_public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMPU1NbWOqYfo8jf34HHNjD6oQt4sOZcrzVwB7e9D/BR syncoid@luna"
  }
}
