host "box" {
  parent_dataset  = "tank/services"
  parent_mount    = "/srv"
  sanoid_interval = "every 5 minutes"
}
