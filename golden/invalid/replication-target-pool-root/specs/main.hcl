host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

service "photos" {
  replication { target = "zfs-recv@nas:backup" }
}
