"""Load balance (负载均衡): a team's reps side by side, suggestions, and moves of customers between them."""
