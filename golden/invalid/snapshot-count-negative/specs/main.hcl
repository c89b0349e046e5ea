host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

snapshot_policy "production" {
  hourly = 24
  daily  = -7
}
