/**
 * Entry point of the operator console.
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App, prefetchPage } from './App.js';
import './styles.css';

prefetchPage();

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root element');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
