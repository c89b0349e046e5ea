host "box" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

snapshot_policy "busy" {
  frequently = 4
  hourly     = 48
  daily      = 30
  weekly     = 8
  monthly    = 12
  yearly     = 2
}

snapshot_policy "keep-only" {
  daily     = 7
  autosnap  = false
  autoprune = true
}

service "git" {
  snapshots { policy = "busy" }
}

service "archive" {
  snapshots { policy = "keep-only" }
}
