host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "sonarr" {
  snapshots {
    policy = "p"
  }
  snapshots {
    policy = "p"
  }
}

snapshot_policy "p" {
  daily = 7
}
