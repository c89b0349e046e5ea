# luna is a host of these specs: forge must not replicate over its dns data.
host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
  services       = ["photos"]
}

host "luna" {
  parent_dataset = "rpool/services"
  parent_mount   = "/srv"
  services       = ["dns"]
}

service "photos" {
  replication { target = "syncoid@luna:rpool/services/dns" }
}

service "dns" {}
