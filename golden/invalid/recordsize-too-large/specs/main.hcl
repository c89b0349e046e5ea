profile "huge" {
  recordsize = "32M"
}
host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}
