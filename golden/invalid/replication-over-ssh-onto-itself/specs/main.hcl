host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "photos" {
  replication { target = "root@forge:tank/services/photos" }
}
