"""HTTP front-door plumbing shared by the chat and GitLab entries: the function-URL request view,
token and signature checks, replay guards, responses."""
