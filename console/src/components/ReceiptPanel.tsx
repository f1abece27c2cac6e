/**
 * A finished run's receipt as the API verified it, offline, against its configured keys
 * (`GET /runs/{runId}/receipt/verification`): verified or why not, the signer's key id, the policy
 * decision ids and the subjects — and the receipt's download, byte for byte as stored.
 */
import { useState } from 'react';
import { request, type ReceiptVerification } from '../api/index.js';
import { useResource } from '../hooks.js';
import { ProblemNotice } from './ProblemNotice.js';

/** The receipt of `runId` (only once `finished`: a receipt is written when the run ends). */
export function ReceiptPanel({ runId, finished }: { runId: string; finished: boolean }) {
  const base = `/runs/${encodeURIComponent(runId)}/receipt`;
  const check = useResource<ReceiptVerification>(finished ? `${base}/verification` : undefined);
  const [downloadError, setDownloadError] = useState<unknown>();

  const download = async (): Promise<void> => {
    setDownloadError(undefined);
    try {
      const res = await request('GET', base);
      const url = URL.createObjectURL(await res.blob());
      const anchor = Object.assign(document.createElement('a'), { href: url, download: `${runId}.sigstore.json` });
      anchor.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (error) {
      setDownloadError(error);
    }
  };

  const result = check.data;
  return (
    <section aria-labelledby="receipt-title" data-testid="receipt" data-verified={result === undefined ? undefined : String(result.verified)}>
      <h2 id="receipt-title">Receipt</h2>
      {!finished ? <p className="hint">A receipt is signed when the run ends.</p> : null}
      {finished && !result && !check.error ? <p aria-live="polite">Verifying…</p> : null}
      <ProblemNotice error={check.error} />
      {result ? (
        <>
          <p className={`notice ${result.verified ? 'notice-ok' : 'notice-error'}`} role="status" data-testid="receipt-status">
            {result.verified ? (
              <>
                <strong>Verified</strong> offline by the API: signed by key <code className="code">{result.keyId ?? 'keyless'}</code>
              </>
            ) : (
              <>
                <strong>Not verified</strong> (<code className="code">{result.code}</code>): {result.reason}
              </>
            )}
          </p>
          <dl className="facts">
            <dt>Receipt digest</dt>
            <dd className="mono digest">{result.digest}</dd>
          </dl>
          {result.verified ? (
            <>
              <h3>Policy decisions</h3>
              {result.policyDecisionIds.length === 0 ? (
                <p>None recorded.</p>
              ) : (
                <ul className="plain-list" aria-label="Policy decision ids">
                  {result.policyDecisionIds.map((decision) => (
                    <li key={`${decision.taskId ?? ''}/${decision.id}/${String(decision.reused ?? false)}`}>
                      <span className="mono">{decision.id}</span> — {decision.taskId === undefined ? 'run start' : `task ${decision.taskId}`}
                      {decision.reused ? ' (run-start decision acted on again)' : ''}
                    </li>
                  ))}
                </ul>
              )}
              <h3>Subjects</h3>
              <table className="table" aria-label="Receipt subjects">
                <thead>
                  <tr>
                    <th scope="col">Subject</th>
                    <th scope="col">sha256</th>
                  </tr>
                </thead>
                <tbody>
                  {result.subjects.map((subject) => (
                    <tr key={subject.name}>
                      <td className="mono">{subject.name}</td>
                      <td className="mono digest">{subject.sha256}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          ) : null}
        </>
      ) : null}
      <p className="links">
        <button type="button" onClick={() => void download()} disabled={!finished}>
          Download receipt
        </button>
        <span className="hint">Verify it yourself with <code className="code">maestro receipt verify FILE</code>.</span>
      </p>
      <ProblemNotice error={downloadError} onDismiss={() => setDownloadError(undefined)} />
    </section>
  );
}
