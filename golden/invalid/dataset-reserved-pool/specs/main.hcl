host "forge" {
  parent_dataset = "mirror/services"
  parent_mount   = "/srv"
}
