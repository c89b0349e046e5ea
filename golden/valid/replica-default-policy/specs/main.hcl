# Replicas whose source has no snapshot policy get the default prune-only
# template; a local target is a replica on the same host.
host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
  services       = ["media", "db"]
}

host "luna" {
  parent_dataset = "rpool/services"
  parent_mount   = "/srv"
  services       = []
}

snapshot_policy "frequent" {
  frequently = 8
  hourly     = 24
  daily      = 7
}

service "media" {
  replication { target = "luna:rpool/replicas/media" }
}

service "db" {
  snapshots { policy = "frequent" }
  replication {
    target   = "backup/replicas/db"
    schedule = "*:0/15"
  }
}
