host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"

  alerts {
    replication_lag_warning  = "2d"
    replication_lag_critical = "1d"
    backup_failing_warning   = "5m"
    snapshot_age_warning     = "two days"
    capacity_warning         = 0
    capacity_critical        = 101
  }
}

service "web" {}
