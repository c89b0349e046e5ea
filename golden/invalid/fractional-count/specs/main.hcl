host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

snapshot_policy "p" {
  daily = 1.5
}
