import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { CheckoutPage } from './checkout-page.tsx';
import '../shared/base.css';

const sessionId = decodeURIComponent(window.location.pathname.split('/').filter(Boolean)[1] ?? '');
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <CheckoutPage sessionId={sessionId} />
  </StrictMode>,
);
