import { callApi } from '@alga/extension-iframe-sdk';

const countOutput = document.querySelector<HTMLOutputElement>('#count')!;
const incrementButton = document.querySelector<HTMLButtonElement>('#increment')!;
const errorText = document.querySelector<HTMLParagraphElement>('#error')!;

async function request(path: string, method: 'GET' | 'POST'): Promise<void> {
  errorText.textContent = '';
  try {
    const response = await callApi(path, { method });
    if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}`);
    countOutput.textContent = String(response.json<{ count: number }>().count);
  } catch (error) {
    errorText.textContent = (error as Error).message;
  }
}

incrementButton.addEventListener('click', () => {
  incrementButton.disabled = true;
  void request('/increment', 'POST').finally(() => {
    incrementButton.disabled = false;
  });
});

void request('/count', 'GET');
