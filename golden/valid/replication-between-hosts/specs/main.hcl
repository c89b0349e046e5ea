# forge replicates to luna, which is itself a host in these specs: luna gets a
# prune-only sanoid policy and canmount=noauto for the replicas it receives.
host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
  services       = ["photos"]
}

host "luna" {
  parent_dataset = "rpool/services"
  parent_mount   = "/srv"
  services       = ["dns"]
}

snapshot_policy "daily" {
  hourly = 12
  daily  = 14
}

service "photos" {
  snapshots { policy = "daily" }
  replication { target = "syncoid@luna:rpool/replicas/photos" }
}

service "dns" {}
