-- wrk script: prints one line of figures for the bench scripts to parse (latency in ms).
done = function(summary, latency, requests)
  local seconds = summary.duration / 1e6
  io.write(string.format("hecs-wrk: rps=%.0f p50=%.3f p99=%.3f p999=%.3f errors=%d non2xx=%d\n",
    summary.requests / seconds, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end
