/**
 * The node drawn for a task: its id, its status as icon, word and colour, and how long it took;
 * the critical path is marked by a thick outline and the word "critical".
 */
import { Handle, Position, type NodeProps } from '@xyflow/react';
import { memo } from 'react';
import { nodeDuration, RUN_IF_LABELS, type TaskNode } from './layout.js';
import { STATUS_LOOKS } from './status.js';

/** How a run condition reads in a node's tooltip. */
const RUN_IF_WORDS = { failure: 'when a need failed', always: 'once its needs ended, whatever happened' } as const;

function TaskNodeView({ data }: NodeProps<TaskNode>) {
  const { task, status, critical } = data;
  const look = STATUS_LOOKS[status];
  const took = nodeDuration(task);
  return (
    <div
      className={critical ? 'dag-node dag-node--critical' : 'dag-node'}
      style={{ borderLeftColor: look.colour, background: look.tint }}
      title={`${task.uses ? `${task.id} (${task.uses})` : task.id}${task.runIf ? ` · runs ${RUN_IF_WORDS[task.runIf]}` : ''}${task.signal ? ` · waits for signal ${task.signal}` : ''}`}
    >
      <Handle type="target" position={Position.Left} isConnectable={false} />
      <span className="dag-node__head">
        <span className="dag-node__id">{task.id}</span>
        {/* Spaces between the words: the visible text (and the accessible name) must read as words. */}
        {task.runIf ? <> <span className="dag-node__run-if">{RUN_IF_LABELS[task.runIf]}</span></> : null}
        {critical ? <> <span className="dag-node__critical">critical</span></> : null}
      </span>
      <span className="dag-node__status" style={{ color: look.colour }}>
        {/* The icon is drawn by CSS from data-icon: as text it would count in the visible text the node's accessible name must contain. */}
        <span aria-hidden="true" className="dag-node__icon" data-icon={look.icon} /> {look.label}
        {took === undefined ? null : ` · ${took}`}
      </span>
      <Handle type="source" position={Position.Right} isConnectable={false} />
    </div>
  );
}

/**
 * The `task` node type. Memoised on what it draws: a status update re-renders only the nodes whose
 * status, timings or critical flag changed.
 */
export const TaskNodeComponent = memo(
  TaskNodeView,
  (before, after) =>
    before.data.status === after.data.status &&
    before.data.critical === after.data.critical &&
    before.data.task.id === after.data.task.id &&
    before.data.task.uses === after.data.task.uses &&
    before.data.task.runIf === after.data.task.runIf &&
    before.data.task.startedAt === after.data.task.startedAt &&
    before.data.task.endedAt === after.data.task.endedAt,
);
