host "box" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"

  jobs {
    memory_max       = "4 GB"
    cpu_quota        = "2"
    io_weight        = 0
    randomized_delay = "soon"
  }
}
