host "forge" {
  parent_dataset = "1tank/services"
  parent_mount   = "/srv"
}
