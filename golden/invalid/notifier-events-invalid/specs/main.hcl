host "box" {
  parent_dataset = "tank/services"
  parent_mount   = "/srv"
}

notifier "phone" {
  type   = "ntfy"
  url    = "https://ntfy.sh/my-homelab"
  events = ["failure", "recovered", "failure"]
}

notifier "chat" {
  type   = "webhook"
  url    = "http://127.0.0.1:8080/hooks/nixgen"
  events = []
}
