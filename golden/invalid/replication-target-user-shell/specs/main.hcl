host "forge" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

# "$@" in a shell command line expands to the positional parameters.
service "photos" {
  replication {
    target = "backup$@nas:backup/photos"
  }
}
