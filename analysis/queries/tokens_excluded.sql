-- Requests whose output length is left out of output statistics, by status: a failed,
-- cancelled, timed-out, killed or evicted request's output is zero or truncated, not a
-- generation length (BurstGPT records failures as zero-token responses).
SELECT status, COUNT(*) AS requests
FROM requests
WHERE trace = $trace
  AND output_tokens IS NOT NULL
  AND status IN ('failed', 'cancelled', 'timeout', 'killed', 'evicted')
GROUP BY status
ORDER BY status
