host "box" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

# Container images run as numeric ids that no passwd entry on the host names.
service "radarr" {
  user  = "568"
  group = "568"
  mode  = "0770"
}
