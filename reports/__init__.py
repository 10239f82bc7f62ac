"""Read-only analytics over the store: campaign results, call statistics, exports."""
