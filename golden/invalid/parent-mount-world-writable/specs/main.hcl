host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/var/tmp/srv"
}

service "photos" {}

service "music" {
  mountpoint = "/srv/music"
}
