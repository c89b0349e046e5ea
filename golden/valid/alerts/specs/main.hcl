host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"

  # A host that replicates over a slow link and keeps its datasets fuller.
  alerts {
    replication_lag_warning  = "1d"
    replication_lag_critical = "3d"
    capacity_warning         = 85
    capacity_critical        = 95
    scrub_age_warning        = "5w"
  }
}

snapshot_policy "standard" {
  hourly = 24
  daily  = 7
}

service "web" {
  snapshots { policy = "standard" }
}
