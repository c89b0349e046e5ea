host "box" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "app" {
  replication {
    target  = "recv@nas:backup/app"
    timeout = "forever"
  }
}
