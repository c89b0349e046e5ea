host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

# A local user can plant /var/tmp/photos -> /etc before the dataset exists.
service "photos" {
  mountpoint = "/var/tmp/photos"
}

service "music" {
  mountpoint = "/var/lock/music"
}

# Already a system tree: reported once, as such.
service "books" {
  mountpoint = "/dev/shm/books"
}
