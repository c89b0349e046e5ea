host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

host "luna" {
  parent_dataset = "rpool/services"
  parent_mount   = "/var/lib/services"
}

service "hass" {
  replication {
    target = "backup@nas:backup/hass"
  }
}
