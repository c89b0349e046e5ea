host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service {
  user = "sonarr"
}
