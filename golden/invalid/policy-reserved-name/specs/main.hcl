host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

snapshot_policy "nixgen-replica-daily" {
  daily = 7
}

service "photos" {
  snapshots { policy = "nixgen-replica-daily" }
}
