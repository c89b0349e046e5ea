snapshot_policy "p" {
  hourly = "many"
}
host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}
