host "box" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "vault" {
  replication {
    target   = "syncoid@backup.example.net:backup/box/vault"
    ssh_key  = "/var/lib/syncoid/id_ed25519"
    schedule = "*:0/15"
    timeout  = "2h 30min"
  }
}

service "wiki" {
  replication { target = "backup-host:backup/wiki" }
}

service "cache" {
  replication { target = "tank/replica/cache" }
}
