# Receiving into luna's parent dataset would overwrite every service there.
host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
  services       = ["photos"]
}

host "luna" {
  parent_dataset = "rpool/services"
  parent_mount   = "/srv"
  services       = []
}

service "photos" {
  replication { target = "luna:rpool" }
}
